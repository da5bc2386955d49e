// This folder's unit tests that need nothing outside the process (units/) in one process, as starting a process for each costs more than running it.
import './units/oauth2-requests.test.js';
import './units/oauth2-responses.test.js';
import './units/responses.test.js';
import './units/outbound-http.test.js';
