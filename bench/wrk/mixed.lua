-- A provisioning mix for the soak test: half reads by id, a fifth filters, a fifth PATCHes, a
-- tenth creates. BENCH_DELAY_MS paces each connection (wrk's delay()), to hold a given rate.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end

common.run(function(users, n)
  local user = users:pick()
  local draw = math.random(10)
  if draw <= 5 then
    return common.get(user)
  elseif draw <= 7 then
    return common.filter(user)
  elseif draw <= 9 then
    return common.patch(user, n)
  end
  return common.create(n)
end)
