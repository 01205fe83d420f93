# bash completion for berthctl. Install: source it, or copy to
# /usr/share/bash-completion/completions/berthctl. Image names and container ids come from the
# daemon (berthctl images ls / ps -a), using the --address/--namespace on the line if given.
_berthctl() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
    }
    local globals="-a --address -n --namespace --format --timeout -h --help --help-all"
    local commands="version info plugins namespaces snapshots content leases events images pull push ps kill rm logs run exec"
    local conn=() i cmd="" sub=""
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -a|--address|-n|--namespace) conn+=("${words[i]}" "${words[i+1]}"); ((i++)) ;;
            --format|--timeout) ((i++)) ;;
            -*) ;;
            *) if [ -z "$cmd" ]; then cmd=${words[i]}; elif [ -z "$sub" ]; then sub=${words[i]}; fi ;;
        esac
    done
    local images containers
    images() { berthctl "${conn[@]}" images ls --format json 2>/dev/null | sed -n 's/.*"name": "\(.*\)".*/\1/p'; }
    containers() { berthctl "${conn[@]}" ps -a -q 2>/dev/null; }
    case $prev in
        --format) COMPREPLY=($(compgen -W "table json" -- "$cur")); return ;;
        --net) COMPREPLY=($(compgen -W "none host" -- "$cur")); return ;;
        --runtime) COMPREPLY=($(compgen -W "io.containerd.runc.v2 io.containerd.berth.v2" -- "$cur")); return ;;
        -s|--signal) COMPREPLY=($(compgen -W "SIGTERM SIGKILL SIGINT SIGHUP SIGUSR1 SIGUSR2 SIGQUIT" -- "$cur")); return ;;
        -a|--address|--log-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --hosts-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        -v|--volume) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    esac
    if [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "$commands $globals" -- "$cur")); return
    fi
    case $cmd in
        images|image)
            if [ -z "$sub" ]; then COMPREPLY=($(compgen -W "ls rm tag inspect import" -- "$cur"))
            elif [ "$sub" = import ]; then COMPREPLY=($(compgen -f -- "$cur"))
            else COMPREPLY=($(compgen -W "$(images)" -- "$cur")); fi ;;
        namespaces|ns) [ -z "$sub" ] && COMPREPLY=($(compgen -W "ls create rm" -- "$cur")) ;;
        snapshots|content|leases|plugins) [ -z "$sub" ] && COMPREPLY=($(compgen -W "ls" -- "$cur")) ;;
        run)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--rm -d -t -i -e -v -u -w -m --cpus --hostname --read-only --net --name --runtime --snapshotter --log-file" -- "$cur"))
            elif [ -z "$sub" ]; then COMPREPLY=($(compgen -W "$(images)" -- "$cur")); fi ;;
        exec|kill|rm|logs)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "-t -i -d -e -s -f --force --follow" -- "$cur"))
            elif [ -z "$sub" ] || [ "$cmd" = rm ] || [ "$cmd" = kill ]; then
                COMPREPLY=($(compgen -W "$(containers)" -- "$cur")); fi ;;
        ps) COMPREPLY=($(compgen -W "-a --all -q --quiet" -- "$cur")) ;;
        pull) COMPREPLY=($(compgen -W "--plain-http --skip-verify -u --user --hosts-dir --max-concurrent-downloads --no-unpack --snapshotter" -- "$cur")) ;;
        push)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--plain-http --skip-verify -u --user --hosts-dir --platform --max-concurrent-uploads" -- "$cur"))
            elif [ -z "$sub" ]; then COMPREPLY=($(compgen -W "$(images)" -- "$cur")); fi ;;
    esac
}
complete -F _berthctl berthctl
