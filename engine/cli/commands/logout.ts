/** `layerwise logout [SERVER]`: see login.ts. */
import type { CliContext } from '../context';
import { logout } from './login';

export const summary = 'Log out from a registry';

export function run(args: string[], ctx: CliContext): Promise<number> {
  return logout(args, ctx);
}
