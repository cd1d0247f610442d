import { registerSinkTests } from './register-sink-tests.ts';
import { mariadbTarget } from './targets.ts';

registerSinkTests(mariadbTarget);
