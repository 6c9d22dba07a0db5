-- GET /healthz: no token, no database. The HTTP ceiling of this machine with this client;
-- every other operation's rate is read against it.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

-- The same request every time: built once.
local request
common.run(function()
  request = request or wrk.format("GET", "/healthz")
  return request
end)
