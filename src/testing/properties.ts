/**
 * `troupe/testing/properties`: the runtime's fast-check objects, for composing with fast-check
 * yourself (`fc.assert(runtimeProperty(...))`, hand-written `commands`). Needs `fast-check`
 * installed (an optional peer of troupe); `troupe/testing` does not.
 */
export type { PropertyOptions, ScenarioLimits } from './model.js';
export { checkRuntimeProperties, commands, runScenario, runtimeProperty } from './model.js';
export type { Command, World } from './model-commands.js';
