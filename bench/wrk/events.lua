-- GET /admin/api/v1/events?after=…&limit=1000: a consumer reading the change feed a page at a
-- time, from a random place in the first BENCH_EVENTS events. BENCH_TOKEN is an admin key.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local events = tonumber(os.getenv("BENCH_EVENTS"))

common.run(function()
  local after = math.random(0, math.max(events - 1000, 0))
  return common.request("GET", "/admin/api/v1/events?limit=1000&after=" .. after)
end)
