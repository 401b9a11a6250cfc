DROP TABLE forge_meta;
