// Types for the few oidc-provider modules internals.ts calls directly: the library's own DPoP
// and certificate-binding steps, which its client_credentials handler runs and Keygate's
// replacement handler (token-grant.ts) must run too. The package has no export map, so these
// paths are importable; the library version is pinned exactly.
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  export interface DPoPResult {
    thumbprint: string;
    jti: string;
    iat: number;
  }
  export default function validateDpop(provider: unknown, ctx: unknown, accessToken?: string): Promise<DPoPResult | undefined>;
  export function checkDpopReplay(provider: unknown, ctx: unknown, dPoP: DPoPResult, clientId: string): Promise<void>;
}

declare module 'oidc-provider/lib/helpers/sender_constraints.js' {
  export function checkMtlsCert(provider: unknown, ctx: unknown): string | undefined;
  export function checkDpopRequired(provider: unknown, ctx: unknown, dPoP: unknown): void;
}

declare module 'oidc-provider/lib/helpers/certificate_thumbprint.js' {
  export default function certificateThumbprint(certificate: string): string;
}
