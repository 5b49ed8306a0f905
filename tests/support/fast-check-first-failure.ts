/**
 * Setup for the tests Stryker runs (vitest.stryker.config.ts): a property that fails stops at its
 * first counterexample. Against a mutant only "does it fail" matters, and shrinking a long event
 * sequence can take longer than Stryker's timeout, which turns a clear kill into a slow timeout.
 */
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true });
