-- Scores are points with halves in practice: keep one decimal, 0.0 to 100.0. Whole scores convert exactly.
ALTER TABLE evaluations ALTER COLUMN score TYPE numeric(4,1);
ALTER TABLE member_evaluations ALTER COLUMN score TYPE numeric(4,1);
