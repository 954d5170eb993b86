-- The dues report now takes the months of a year in a member's closed spans by a subquery in its own statement:
-- PostgreSQL ran this SQL function, which reads a set, as a query of its own on every call (about 11 µs each), and
-- on the quick registry it took half of a province's members-behind statement.
DROP FUNCTION pb_year_mask(int4multirange, integer);
