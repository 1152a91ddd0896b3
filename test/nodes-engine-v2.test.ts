/** The nodes inside n8n 2.x's execution engine (n8n-core 2.41). */
import { defineNodeSuite } from './helpers/node-suite';

defineNodeSuite('v2');
