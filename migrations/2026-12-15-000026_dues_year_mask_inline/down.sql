-- The months of `year` in `closed`, as a mask.
CREATE FUNCTION pb_year_mask(closed int4multirange, year integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(bit_or((1 << (upper(r) - year * 12)) - (1 << (lower(r) - year * 12))), 0)
    FROM unnest(closed * int4multirange(int4range(year * 12, year * 12 + 12))) r
$$;
