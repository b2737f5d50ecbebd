/** The marker the console's routes carry (route config), read by the AppServer's session check. */
export const DEV_CONSOLE_ROUTE = { devConsole: true } as const;

export function isDevConsoleRoute(config: unknown): boolean {
  return !!config && typeof config === 'object' && (config as { devConsole?: unknown }).devConsole === true;
}
