-- GET /Users/{id}.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local users
setup = common.setup
done = common.done
init = function() users = common.users() end

request = function()
  return wrk.format("GET", common.base_path .. "/Users/" .. users[math.random(#users)].id, common.headers)
end
