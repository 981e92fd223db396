// The real PostgreSQL 15 server the tests (and bench/service.js) start: see postgres-server.js.
export {postgresMissing, startPostgres, type TestPostgres} from './postgres-server.js'
