/**
 * Local Aliyun STS (sts.aliyuncs.com, API version 2015-04-01): AssumeRole → temporary credentials (STS.… AccessKeyId,
 * secret, SecurityToken, Expiration) that the local OSS and VOD accept until they expire, plus GetCallerIdentity.
 * The lifetime is DurationSeconds (900..43200, default 3600) unless the admin API overrides it
 * (POST /_admin/credentials {stsLifetimeSeconds}).
 *
 * The role's policy and an AssumeRole `Policy` are checked for grammar but not enforced: the credentials act for the
 * whole account (like a role with full VOD/OSS access).
 */
import { randomBytes } from 'node:crypto';
import { createFastify } from '../../http';
import type { CloudContext, CloudProvider } from '../context';
import { getAliyunShared, isoSeconds, registerCredentialAdmin, releaseAliyunShared } from '../aliyun-common';
import { mountRpcService, required, rpcFrameworkErrors, RpcError } from '../aliyun-common/rpc';

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
            if (p.Policy !== undefined && p.Policy !== '') {
              let ok = false;
              try {
                const doc = JSON.parse(p.Policy);
                ok = !!doc && typeof doc === 'object' && Array.isArray(doc.Statement);
              } catch {
                ok = false;
              }
              if (!ok) throw new RpcError(400, 'InvalidParameter.PolicyGrammar', 'The parameter Policy has not passed grammar check.');
            }
            const lifetime = shared.settings.stsLifetimeSeconds || duration;
            const cred = shared.issueTemporary({ now: ctx.now(), durationSeconds: lifetime, scope: { kind: 'account' }, source: 'sts', roleArn: arn, roleSessionName: session });
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
