/** Recorded in every commitInfo, so `history` shows which tool wrote a version. */
export const ENGINE_NAME = 'lakelet';
export const ENGINE_VERSION = '0.1.0';
export const ENGINE_INFO = `${ENGINE_NAME}/${ENGINE_VERSION}`;
