/** Absolute path of the reference fixture folder, injected by vitest.config.ts. */
declare const __DEARLI_FIXTURES__: string;
