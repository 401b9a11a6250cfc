DROP TABLE limit_settings;
