// A foreign client for the CRI streaming server: node's `ws` package (Debian node-ws), not our
// code, drives one exec over WebSocket so the framing is checked by an independent
// implementation. Usage: node ws_exec.js URL STDIN_TEXT EXPECTED_STDOUT EXPECTED_EXIT_CODE
// Speaks v5.channel.k8s.io (v4 as fallback): channel byte first, 0 stdin, 1 stdout, 2 stderr,
// 3 status (metav1.Status JSON), 255 close (v5: [255, 0] closes stdin).
// Exits 0 when stdout and the exit code match; prints what it saw either way.
'use strict';
const WebSocket = require('/usr/share/nodejs/ws');

const [url, input, wantOut, wantCode] = process.argv.slice(2);
if (!url) {
  console.error('usage: node ws_exec.js URL STDIN EXPECTED_STDOUT EXPECTED_EXIT_CODE');
  process.exit(2);
}
const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
let stdout = '';
let stderr = '';
let status = null;
const timer = setTimeout(() => finish('timeout'), 20000);

function finish(why) {
  clearTimeout(timer);
  let code = 0;
  if (status && status.status === 'Failure') {
    const causes = (status.details && status.details.causes) || [];
    const exit = causes.find((c) => c.reason === 'ExitCode');
    code = exit ? parseInt(exit.message, 10) : -1;
  } else if (!status) {
    code = -2;
  }
  const ok = why === 'closed' && stdout === wantOut && code === parseInt(wantCode, 10);
  console.log(JSON.stringify({ why, protocol: ws.protocol, stdout, stderr, status, code, ok }));
  process.exit(ok ? 0 : 1);
}

ws.on('open', () => {
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(input)]));
  if (ws.protocol === 'v5.channel.k8s.io') {
    ws.send(Buffer.from([255, 0]));  // close stdin
  }
});
ws.on('message', (data) => {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (buf.length === 0) return;
  const body = buf.subarray(1).toString();
  switch (buf[0]) {
    case 1: stdout += body; break;
    case 2: stderr += body; break;
    case 3: if (body.length) status = JSON.parse(body); break;
    default: break;
  }
});
ws.on('close', () => finish('closed'));
ws.on('error', (err) => { console.error(String(err)); finish('error'); });
