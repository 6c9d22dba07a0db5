-- GET /Users?startIndex=…&count=100: an import page.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

common.run(function(users)
  local start = math.random(math.max(users:count() - 100, 1))
  return common.request("GET", common.base_path .. "/Users?startIndex=" .. start .. "&count=100")
end)
