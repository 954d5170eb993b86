-- GET BENCH_PATH (a format with one %s) for an id drawn from the file BENCH_IDS, with a token drawn from the file
-- BENCH_TOKENS: several tokens, so that the per-token rate limit is not what is measured.
local ids, tokens = {}, {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local path = os.getenv("BENCH_PATH")

request = function()
  local headers = { ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] }
  return wrk.format("GET", string.format(path, ids[math.random(#ids)]), headers)
end
