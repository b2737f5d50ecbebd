/**
 * Local Aliyun STS (sts.aliyuncs.com, API version 2015-04-01): AssumeRole → temporary credentials (STS.… AccessKeyId,
 * secret, SecurityToken, Expiration) that the local OSS and VOD accept until they expire, plus GetCallerIdentity.
 * The lifetime is DurationSeconds (900..43200, default 3600) unless the admin API overrides it
 * (POST /_admin/credentials {stsLifetimeSeconds}).
 *
 * The local role has full VOD / OSS access. An AssumeRole `Policy` is checked as STS checks it (grammar →
 * InvalidParameter.PolicyGrammar, over 2048 characters → InvalidParameter.PolicySize), kept with the credentials, and
 * enforced by the local VOD (Forbidden.RAM), OSS (AccessDenied) and STS itself (NoPermission for AssumeRole) through
 * aliyun-common/ram-policy. Credentials issued without a Policy act for the whole role.
 */
import { randomBytes } from 'node:crypto';
import { createFastify } from '../../http';
import type { CloudContext, CloudProvider } from '../context';
import { getAliyunShared, isoSeconds, registerCredentialAdmin, releaseAliyunShared } from '../aliyun-common';
import { mountRpcService, required, rpcFrameworkErrors, RpcError } from '../aliyun-common/rpc';
import { parseRamPolicy, type RamPolicy } from '../aliyun-common/ram-policy';

export function aliyunStsProvider(): CloudProvider {
  return {
    name: 'sts',
    async build(ctx: CloudContext) {
      const shared = getAliyunShared(ctx);
      const app = createFastify({ name: 'sts', frameworkErrors: rpcFrameworkErrors('Sts', 'sts.aliyuncs.com') });
      app.addHook('onClose', async () => releaseAliyunShared(ctx));
      registerCredentialAdmin(app, ctx);
      const roleArn = shared.account.roleArn;
      const log = mountRpcService(app, ctx, {
        product: 'Sts',
        hostId: 'sts.aliyuncs.com',
        version: '2015-04-01',
        // a restricted credential may assume the role again only if its policy allows sts:AssumeRole on it
        ram: {
          service: 'sts',
          resource: (p) => p.RoleArn || `acs:ram::${shared.account.accountId}:role/*`,
          deny: () => new RpcError(403, 'NoPermission', 'You are not authorized to do this action. You should be authorized by RAM.'),
          exempt: ['GetCallerIdentity'],
        },
        actions: {
          AssumeRole: (p) => {
            const arn = required(p, 'RoleArn');
            const m = /^acs:ram::(\d+):role\/([\w.@-]{1,64})$/i.exec(arn);
            if (!m) throw new RpcError(400, 'InvalidParameter.RoleArn', 'The parameter RoleArn is wrong.');
            if (m[1] !== shared.account.accountId || arn.toLowerCase() !== roleArn.toLowerCase()) {
              throw new RpcError(404, 'EntityNotExist.Role', `The specified Role not exists: ${arn} (the local cloud knows ${roleArn}).`);
            }
            const session = required(p, 'RoleSessionName');
            if (!/^[\w.@-]{2,64}$/.test(session)) throw new RpcError(400, 'InvalidParameter.RoleSessionName', 'The parameter RoleSessionName is wrong: 2-64 letters, digits, . @ - _.');
            let duration = 3600;
            if (p.DurationSeconds !== undefined && p.DurationSeconds !== '') {
              duration = /^\d+$/.test(p.DurationSeconds) ? parseInt(p.DurationSeconds, 10) : NaN;
              if (!(duration >= 900 && duration <= 43200)) throw new RpcError(400, 'InvalidParameter.DurationSeconds', 'The Min/Max value of DurationSeconds is 15min/12hr.');
            }
            let policy: RamPolicy | undefined;
            if (p.Policy !== undefined && p.Policy !== '') {
              const parsed = parseRamPolicy(p.Policy);
              if (!parsed.ok) throw new RpcError(400, parsed.code, parsed.message);
              policy = parsed.policy;
            }
            const lifetime = shared.settings.stsLifetimeSeconds || duration;
            const cred = shared.issueTemporary({ now: ctx.now(), durationSeconds: lifetime, scope: { kind: 'account' }, source: 'sts', roleArn: arn, roleSessionName: session, policy });
            const roleId = `3${randomBytes(8).readBigUInt64BE().toString().padStart(17, '0').slice(0, 17)}`;
            return {
              AssumedRoleUser: { AssumedRoleId: `${roleId}:${session}`, Arn: `${arn}/${session}` },
              Credentials: { SecurityToken: cred.securityToken, AccessKeyId: cred.accessKeyId, AccessKeySecret: cred.accessKeySecret, Expiration: isoSeconds(cred.expiresAt) },
            };
          },
          GetCallerIdentity: (_p, caller) => {
            if (caller.temp) {
              return {
                AccountId: shared.account.accountId,
                IdentityType: 'AssumedRoleUser',
                Arn: `${caller.temp.roleArn || roleArn}/${caller.temp.roleSessionName || 'session'}`,
                PrincipalId: `${caller.temp.roleSessionName || 'session'}`,
                RoleId: caller.temp.roleArn,
              };
            }
            return { AccountId: shared.account.accountId, IdentityType: 'Account', Arn: `acs:ram::${shared.account.accountId}:root`, PrincipalId: shared.account.accountId, UserId: shared.account.accountId };
          },
        },
      });
      app.get('/_admin/requests', async () => ({ requests: log }));
      return app;
    },
  };
}
