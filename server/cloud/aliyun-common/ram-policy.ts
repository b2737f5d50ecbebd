/**
 * RAM policies as STS AssumeRole takes them (the `Policy` parameter) and as the local providers enforce them on the
 * temporary credentials issued with one.
 *
 * Grammar (RAM policy language, Version "1"):
 *   {"Version": "1", "Statement": [{"Effect": "Allow"|"Deny", "Action"|"NotAction": s|[s…], "Resource": s|[s…],
 *                                   "Condition"?: {…}}]}
 * (RAM's documented policy elements; RAM has no NotResource, and Principal belongs to resource-based policies only.)
 * STS rejects a Policy that is not such a document with InvalidParameter.PolicyGrammar and one longer than 2048
 * characters with InvalidParameter.PolicySize (AssumeRole error codes, Aliyun STS API reference).
 *
 * Evaluation (RAM's order): an explicit Deny that matches wins; else an Allow that matches grants; else implicit deny.
 * Action names match case-insensitively, resources case-sensitively; `*` in either matches any run of characters.
 * The local cloud does not evaluate Condition blocks (acs:SourceIp, acs:CurrentTime, …): an Allow with a Condition
 * grants nothing and a Deny with a Condition always applies, so a policy is never more permissive here than on Aliyun.
 */

/** The longest Policy AssumeRole accepts (characters; the current STS reference says 1 to 2,048). */
export const MAX_POLICY_LENGTH = 2048;

export interface RamStatement {
  Effect: 'Allow' | 'Deny';
  Action?: string[];
  NotAction?: string[];
  Resource: string[];
  Condition?: Record<string, unknown>;
}

export interface RamPolicy {
  Version: '1';
  Statement: RamStatement[];
}

export type PolicyParseResult = { ok: true; policy: RamPolicy } | { ok: false; code: 'InvalidParameter.PolicyGrammar' | 'InvalidParameter.PolicySize'; message: string };

const STATEMENT_KEYS = new Set(['Effect', 'Action', 'NotAction', 'Resource', 'Condition']);
const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function stringList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return v ? [v] : undefined;
  if (!Array.isArray(v) || v.length === 0) return undefined;
  for (const x of v) if (typeof x !== 'string' || !x) return undefined;
  return v as string[];
}

/** "*" or "<service>:<action pattern>" (e.g. vod:GetPlayInfo, vod:Get*, oss:*). */
const ACTION_RE = /^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*]+)$/;
/** "*" or an ARN "acs:<service>:<region>:<account>:<relative id>" (each part may use *). */
const RESOURCE_RE = /^(\*|acs:[A-Za-z0-9*-]+:[A-Za-z0-9*-]*:[0-9*]*:.+)$/;

/** Parse and grammar-check an AssumeRole Policy, as STS does before issuing credentials. */
export function parseRamPolicy(text: string): PolicyParseResult {
  const grammar = { ok: false as const, code: 'InvalidParameter.PolicyGrammar' as const, message: 'The parameter Policy has not passed grammar check.' };
  if ([...text].length > MAX_POLICY_LENGTH) return { ok: false, code: 'InvalidParameter.PolicySize', message: `The size of Policy must be smaller than ${MAX_POLICY_LENGTH} bytes.` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return grammar;
  }
  if (!isPlainObject(doc)) return grammar;
  for (const k of Object.keys(doc)) if (k !== 'Version' && k !== 'Statement') return grammar;
  if (doc.Version !== '1' || !Array.isArray(doc.Statement) || doc.Statement.length === 0) return grammar;
  const statements: RamStatement[] = [];
  for (const raw of doc.Statement as unknown[]) {
    if (!isPlainObject(raw)) return grammar;
    for (const k of Object.keys(raw)) if (!STATEMENT_KEYS.has(k)) return grammar;
    if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') return grammar;
    if (('Action' in raw) === ('NotAction' in raw)) return grammar;
    const actions = stringList('Action' in raw ? raw.Action : raw.NotAction);
    const resources = stringList(raw.Resource);
    if (!actions || !resources) return grammar;
    if (!actions.every((a) => ACTION_RE.test(a)) || !resources.every((r) => RESOURCE_RE.test(r))) return grammar;
    if ('Condition' in raw && !isPlainObject(raw.Condition)) return grammar;
    const st: RamStatement = { Effect: raw.Effect, Resource: resources };
    if ('Action' in raw) st.Action = actions;
    else st.NotAction = actions;
    if (raw.Condition !== undefined) st.Condition = raw.Condition as Record<string, unknown>;
    statements.push(st);
  }
  return { ok: true, policy: { Version: '1', Statement: statements } };
}

const patternCache = new Map<string, RegExp>();

/** `*` matches any run of characters (also none); everything else is literal. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = patternCache.get(key);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`, ignoreCase ? 'i' : '');
    if (patternCache.size > 1000) patternCache.clear();
    patternCache.set(key, re);
  }
  return re.test(value);
}

export interface RamRequest {
  /** "<service>:<Action>", e.g. vod:GetPlayInfo, oss:PutObject. */
  action: string;
  /** The ARN of what the request touches, e.g. acs:oss:cn-shanghai:1234:bucket/key. */
  resource: string;
}

export type RamDecision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

function statementMatches(st: RamStatement, req: RamRequest): boolean {
  const actionHit = st.Action ? st.Action.some((a) => wildcardMatch(a, req.action, true)) : !st.NotAction!.some((a) => wildcardMatch(a, req.action, true));
  if (!actionHit) return false;
  return st.Resource.some((r) => wildcardMatch(r, req.resource));
}

/** RAM's decision for one request: explicit Deny, then Allow, else implicit deny. */
export function evaluateRamPolicy(policy: RamPolicy, req: RamRequest): RamDecision {
  let allowed = false;
  for (const st of policy.Statement) {
    if (!statementMatches(st, req)) continue;
    if (st.Effect === 'Deny') return 'ExplicitDeny';
    // an Allow that needs a condition the local cloud cannot evaluate grants nothing
    if (!st.Condition || Object.keys(st.Condition).length === 0) allowed = true;
  }
  return allowed ? 'Allow' : 'ImplicitDeny';
}
