DROP TABLE organisations;
DROP FUNCTION pb_fold(text);
