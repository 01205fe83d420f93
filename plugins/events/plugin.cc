#include "plugins/events/plugin.h"

#include "plugins/events/exchange.h"

namespace berth::events {

absl::Status RegisterEventsExchange(plugin::Registry& registry) {
  return registry.Add(plugin::Make<Exchange>(
      {.type = plugin::kEvent, .id = "exchange"},
      [](plugin::InitContext&, const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<Exchange>> {
        return std::make_shared<Exchange>();
      }));
}

}  // namespace berth::events
