-- Included by `national.sql` and `year.sql` (`\ir parts.sql`): running their largest statements in parts, side by
-- side. PostgreSQL 15 runs no INSERT ... SELECT with parallel workers, so one statement keeps one core busy however
-- many the machine has; here each part runs in a session of its own, opened with dblink to the same database.
-- `sessions` parts (psql -v sessions=N; default 2, the cores of the machine this was written on).
--
-- `pg_temp.side_by_side(statement)` sends `statement` to each session with `{part}` replaced by 0, 1, ... and
-- `{parts}` by their number, and waits for all of them; an error in any part cancels the others and stops the
-- script. The parts run with triggers and foreign key checks off, as the including scripts do, and each commits on
-- its own: the scripts are run on a database made for them, which a failure leaves to be dropped rather than
-- mended. The parts would wait for any lock this session held, so it must hold none when it sends them: each
-- statement of the scripts commits on its own, and no statement before a call may be in the same transaction.
\if :{?sessions} \else \set sessions 2 \endif
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT set_config('bench.sessions', :'sessions', false) AS sessions;
CREATE FUNCTION pg_temp.side_by_side(statement text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    parts integer := current_setting('bench.sessions')::integer;
    -- The parts connect as this session did: to the same address (none over a Unix socket) and port.
    server text := format('host=%s port=%s dbname=%s user=%s',
                          coalesce(host(inet_server_addr()),
                                   split_part(current_setting('unix_socket_directories'), ',', 1)),
                          current_setting('port'), current_database(), current_user);
    finished integer[] := '{}';
BEGIN
    FOR k IN 0 .. parts - 1 LOOP
        PERFORM dblink_connect('part' || k, server);
        PERFORM dblink_exec('part' || k, 'SET session_replication_role = replica; SET synchronous_commit = off; '
                                         'SET work_mem = ''256MB''');
        PERFORM dblink_send_query('part' || k, replace(replace(statement, '{parts}', parts::text), '{part}', k::text));
    END LOOP;
    -- Each part's result is taken as soon as it is ready, so that a failed part is seen while the others still run.
    BEGIN
        WHILE cardinality(finished) < parts LOOP
            FOR k IN 0 .. parts - 1 LOOP
                IF NOT k = ANY (finished) AND dblink_is_busy('part' || k) = 0 THEN
                    PERFORM * FROM dblink_get_result('part' || k) AS r(status text);
                    finished := finished || k;
                END IF;
            END LOOP;
            PERFORM pg_sleep(0.1);
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        -- The other parts would otherwise run on, and commit, after the script has stopped.
        FOR k IN 0 .. parts - 1 LOOP
            PERFORM dblink_cancel_query('part' || k);
        END LOOP;
        RAISE;
    END;
    FOR k IN 0 .. parts - 1 LOOP
        PERFORM dblink_disconnect('part' || k);
    END LOOP;
END
$$;

-- What `dues_rebuild()` does once its tables are empty (the caller empties them, in a transaction of its own: the
-- parts would wait for this session's lock), in parts that split the members by their organisation, so that no two
-- parts write the same organisation's kept figures. Nothing else may write to the registry meanwhile:
-- `dues_rebuild()` takes `dues_lock()` for that, which the parts cannot share.
CREATE FUNCTION pg_temp.dues_count_in_parts() RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.side_by_side($dues$
        SELECT dues_members_refresh(array_agg(id)) FROM members
        WHERE get_byte(uuid_send(organisation_id), 0) % {parts} = {part} HAVING count(*) > 0
    $dues$)
$$;
