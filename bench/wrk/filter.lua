-- GET /Users?filter=userName eq "…": the lookup every IdP makes before a create.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local users
setup = common.setup
done = common.done
init = function() users = common.users() end

request = function()
  local user = users[math.random(#users)]
  local path = common.base_path .. "/Users?filter=userName%20eq%20%22" .. user.name:gsub("@", "%%40") .. "%22"
  return wrk.format("GET", path, common.headers)
end
