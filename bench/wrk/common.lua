-- Shared by the wrk scripts: the bearer token, the seeded users (`id userName` per line), a
-- per-thread counter, and one RESULT line per run for bench/run.sh to read.
--
-- The client shares the machine's cores with the server, so every microsecond it spends
-- building a request is taken from the server: requests are one string concatenation onto
-- header lines built once per thread, not `wrk.format` (a table, a loop over the headers and
-- a `string.format` per line). That cut wrk's own user time per GET from ~10 to ~6 µs.
local common = {}

common.token = os.getenv("BENCH_TOKEN")
-- The SCIM base path on the server: /scim/v2 for scimd.
common.base_path = os.getenv("BENCH_BASE_PATH") or "/scim/v2"

-- The header lines every SCIM request carries; `init` adds Host, known only then.
local headers

-- One HTTP/1.1 request: the request line, the shared headers, and the body if any.
function common.request(method, path, body)
  if body then
    return method .. " " .. path .. " HTTP/1.1\r\n" .. headers ..
      "Content-Length: " .. #body .. "\r\n\r\n" .. body
  end
  return method .. " " .. path .. " HTTP/1.1\r\n" .. headers .. "\r\n"
end

-- The seeded users (`id userName` per line), kept as the file's text. wrk calls each thread's
-- `init` in turn and starts its clock only after the last one, while the threads already
-- started are sending requests: an init that parsed a million lines into a table (seconds per
-- thread) let the first thread's head start count against too short a time and inflated the
-- rate. One read of the file takes milliseconds.
local Users = {}
Users.__index = Users

function common.users()
  local file = assert(io.open(os.getenv("BENCH_USERS_FILE"), "rb"))
  local text = file:read("*a")
  file:close()
  assert(text:find("\n", 1, true), "BENCH_USERS_FILE has no users")
  return setmetatable({ text = text }, Users)
end

-- A user at random: the line after a random byte of the file (after the last line comes the
-- first). A line's chance follows the length of the line before it; the lines differ by a
-- few characters at most.
function Users:pick()
  local text = self.text
  local line_end = text:find("\n", math.random(#text), true)
  local start = (line_end and line_end < #text) and line_end + 1 or 1
  local id, name = text:match("^(%S+) (%S+)", start)
  return { id = id, name = name }
end

-- How many users there are; counted on first use, as only the list script needs it.
function Users:count()
  if not self.lines then
    local _, lines = self.text:gsub("\n", "")
    self.lines = lines
  end
  return self.lines
end

-- Threads get distinct numbers, so generated userNames never collide.
local next_thread = 0
function common.setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_number", next_thread)
end

-- The requests, one builder each; `n` makes names and values unique per thread.
function common.create(n)
  local name = string.format("new-%d-%d-%s@bench.example", thread_number, n, os.getenv("BENCH_RUN"))
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",' ..
    '"name":{"givenName":"Bench","familyName":"User"},"emails":[{"value":"%s","primary":true}]}',
    name, name)
  return common.request("POST", common.base_path .. "/Users", body)
end

function common.get(user)
  return common.request("GET", common.base_path .. "/Users/" .. user.id)
end

function common.filter(user)
  local path = common.base_path .. "/Users?filter=userName%20eq%20%22" .. user.name:gsub("@", "%%40") .. "%22"
  return common.request("GET", path)
end

function common.patch(user, n)
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
    '"Operations":[{"op":"Replace","path":"displayName","value":"Name %d-%d"}]}',
    thread_number, n)
  return common.request("PATCH", common.base_path .. "/Users/" .. user.id, body)
end

function common.put(user, n)
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",' ..
    '"name":{"givenName":"Put","familyName":"%d-%d"},"emails":[{"value":"%s","primary":true}],"active":true}',
    user.name, thread_number, n, user.name)
  return common.request("PUT", common.base_path .. "/Users/" .. user.id, body)
end

function common.done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    errors,
    summary.requests))
end

-- Installs wrk's hooks for a script whose requests `build(users, n)` makes; `n` counts this
-- thread's requests.
function common.run(build)
  local users
  local n = 0
  setup = common.setup
  done = common.done
  init = function()
    headers = "Host: " .. wrk.headers["Host"] .. "\r\n" ..
      "Authorization: Bearer " .. (common.token or "") .. "\r\n" ..
      "Content-Type: application/scim+json\r\n"
    users = common.users()
  end
  request = function()
    n = n + 1
    -- With the users' text live (60 MB for a million), LuaJIT lets garbage pile up to the
    -- heap's size and then stalls tens of milliseconds to collect it, which wrk counts as
    -- request latency: against a server answering a constant body, p99 28-44 ms with a
    -- million users' text and 2.4-3.3 ms with a small step of collection per request.
    collectgarbage("step", 0)
    return build(users, n)
  end
end

return common
