-- POST /api/v1/members: an admission into a cell drawn from the file BENCH_IDS, with a token drawn from the file
-- BENCH_TOKENS.
local cells, tokens = {}, {}
for line in io.lines(os.getenv("BENCH_IDS")) do cells[#cells + 1] = line end
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end

request = function()
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
    ["Content-Type"] = "application/json",
  }
  local body = string.format(
    '{"full_name": "Nguyễn Văn Thử", "birth_date": "1990-01-01", "organisation_id": "%s", "admitted_on": "2024-06-01"}',
    cells[math.random(#cells)])
  return wrk.format("POST", "/api/v1/members", headers, body)
end
