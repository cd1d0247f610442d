import { registerSinkTests } from './register-sink-tests.ts';
import { postgresTarget } from './targets.ts';

registerSinkTests(postgresTarget);
