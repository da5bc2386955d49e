// This folder's pure unit tests (units/) in one process, as starting a process for each costs more than running it.
import './units/authorization-response.test.js';
import './units/authorize-request.test.js';
import './units/client-auth.test.js';
import './units/discovery.test.js';
import './units/logout-request.test.js';
import './units/request-params.test.js';
