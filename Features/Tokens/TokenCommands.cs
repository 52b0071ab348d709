using System.CommandLine;
using VpsPanel.Features.Cli;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Tokens;

/// <summary>`vpspanel token create|list|revoke`: API tokens from the server's shell (works on the data dir).</summary>
public static class TokenCommands
{
    public static Command Build()
    {
        var token = new Command("token", "Manage API tokens");
        token.Subcommands.Add(Create());
        token.Subcommands.Add(List());
        token.Subcommands.Add(Revoke());
        return token;
    }

    static Command Create()
    {
        var user = new Option<string>("--user") { Description = "Email of the user the token acts as", Required = true };
        var name = new Option<string>("--name") { Description = "What the token is for, e.g. ci-deploy", Required = true };
        var days = new Option<int?>("--expires-days") { Description = "Days until the token expires (default: never)" };
        var cmd = new Command("create", "Create a token and print it alone on stdout (it is not shown again)") { user, name, days };
        cmd.SetAction(p =>
        {
            if (ApiTokens.NameProblem(p.GetValue(name)) is { } n) throw new CliException(n);
            if (ApiTokens.ExpiryProblem(p.GetValue(days)) is { } x) throw new CliException(x);
            using var c = CliApp.OpenDb(p).Open();
            var u = UserStore.FindUserByEmail(c, UserStore.NormalizeEmail(p.GetValue(user))) ?? throw new CliException($"no user with the email {p.GetValue(user)}");
            if (u.Disabled) throw new CliException($"{u.Email} is disabled; enable the user first");
            var (id, token) = ApiTokens.CreateToken(c, u.Id, p.GetValue(name)!, p.GetValue(days));
            Audit.AuditLog.RecordCli(c, "token.create", p.GetValue(name)!.Trim(), $"token {id} for {u.Email}, " + (p.GetValue(days) is { } d ? $"expires in {d} days" : "never expires"));
            Console.WriteLine(token);
            return 0;
        });
        return cmd;
    }

    static Command List()
    {
        var user = new Option<string?>("--user") { Description = "Only this user's tokens" };
        var cmd = new Command("list", "List tokens (id, user, name, prefix, state, expiry, last use)") { user };
        cmd.SetAction(p =>
        {
            using var c = CliApp.OpenDb(p).Open();
            var tokens = ApiTokens.ListAllTokens(c);
            if (p.GetValue(user) is { } email)
            {
                var u = UserStore.FindUserByEmail(c, UserStore.NormalizeEmail(email)) ?? throw new CliException($"no user with the email {email}");
                tokens = tokens.Where(t => t.UserId == u.Id).ToList();
            }
            foreach (var t in tokens)
                Console.WriteLine($"{t.Id}\t{t.UserEmail}\t{t.Name}\t{t.Prefix}…\t{t.State(DateTime.UtcNow)}\texpires {t.ExpiresAt ?? "never"}\tlast used {t.LastUsedAt ?? "never"}");
            return 0;
        });
        return cmd;
    }

    static Command Revoke()
    {
        var id = new Argument<long>("ID") { Description = "The token's id (from `token list`)" };
        var cmd = new Command("revoke", "Revoke a token; it stops working at once") { id };
        cmd.SetAction(p =>
        {
            using var c = CliApp.OpenDb(p).Open();
            if (!ApiTokens.RevokeToken(c, p.GetValue(id), null)) throw new CliException($"no active token with id {p.GetValue(id)}");
            Audit.AuditLog.RecordCli(c, "token.revoke", $"token {p.GetValue(id)}");
            Console.WriteLine($"token {p.GetValue(id)} revoked");
            return 0;
        });
        return cmd;
    }
}
