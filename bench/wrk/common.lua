-- Shared by the wrk scripts: the bearer token, the seeded users (`id userName` per line), a
-- per-thread counter, and one RESULT line per run for bench/run.sh to read.
local common = {}

common.token = os.getenv("BENCH_TOKEN")
-- The SCIM base path on the server: /scim/v2 for scimd.
common.base_path = os.getenv("BENCH_BASE_PATH") or "/scim/v2"
common.headers = {
  ["Authorization"] = "Bearer " .. (common.token or ""),
  ["Content-Type"] = "application/scim+json",
}

function common.users()
  local users = {}
  for line in io.lines(os.getenv("BENCH_USERS_FILE")) do
    local id, name = line:match("^(%S+) (%S+)$")
    users[#users + 1] = { id = id, name = name }
  end
  return users
end

-- Threads get distinct numbers, so generated userNames never collide.
local next_thread = 0
function common.setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_number", next_thread)
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

return common
