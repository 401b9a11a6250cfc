DROP TABLE upstream_objects;
