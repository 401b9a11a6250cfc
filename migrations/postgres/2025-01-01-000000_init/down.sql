DROP TABLE IF EXISTS forge_key_scopes;
DROP TABLE IF EXISTS forge_api_keys;
DROP TABLE IF EXISTS provider_keys;
DROP TABLE IF EXISTS users;
