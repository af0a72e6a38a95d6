-- busted helper (--helper): lets specs require shared test code from tests/spec/.
local dir = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = dir .. "/?.lua;" .. package.path
