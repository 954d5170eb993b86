DROP TABLE resolution_implementations;
DROP TABLE resolutions;
