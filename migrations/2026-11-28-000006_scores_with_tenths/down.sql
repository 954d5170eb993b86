-- Rounds any score with a tenth to whole points.
ALTER TABLE evaluations ALTER COLUMN score TYPE integer USING round(score);
ALTER TABLE member_evaluations ALTER COLUMN score TYPE integer USING round(score);
