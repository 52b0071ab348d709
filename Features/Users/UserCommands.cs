using System.CommandLine;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Users;

/// <summary>`vpspanel user add|list|reset-password|reset-2fa|disable`: user admin from the server's shell. Passwords come on stdin.</summary>
public static class UserCommands
{
    public static Command Build()
    {
        var user = new Command("user", "Manage panel users");
        user.Subcommands.Add(Add());
        user.Subcommands.Add(List());
        user.Subcommands.Add(ResetPassword());
        user.Subcommands.Add(ResetTwoFactor());
        user.Subcommands.Add(Disable());
        return user;
    }

    static Option<string> EmailOption() => new("--email") { Description = "The user's email address", Required = true };

    /// <summary>The first line of stdin: so a password never appears in the process list or shell history.</summary>
    static string ReadPassword()
    {
        if (!Console.IsInputRedirected) Console.Error.Write("Password (at least 12 characters): ");
        var pw = Console.In.ReadLine();
        if (UserStore.PasswordProblem(pw) is { } problem) throw new CliException(problem + " (the password is read from stdin)");
        return pw!;
    }

    static Command Add()
    {
        var email = EmailOption();
        var admin = new Option<bool>("--admin") { Description = "Make the user an admin (default: member)" };
        var cmd = new Command("add", "Add a user; reads the password from stdin") { email, admin };
        cmd.SetAction(p =>
        {
            var e = UserStore.NormalizeEmail(p.GetValue(email));
            if (UserStore.EmailProblem(e) is { } problem) throw new CliException(problem);
            var password = ReadPassword();
            var db = CliApp.OpenDb(p);
            using var c = db.Open();
            var wasFirst = !UserStore.AnyUserExists(c);
            if (UserStore.InsertUser(c, e, password, p.GetValue(admin) ? Roles.Admin : Roles.Member) is null)
                throw new CliException($"a user with the email {e} already exists");
            Audit.AuditLog.RecordCli(c, "user.create", e, $"role {(p.GetValue(admin) ? Roles.Admin : Roles.Member)}");
            // A running panel sees the user on its next /setup request; the token file goes now.
            if (wasFirst) File.Delete(Path.Combine(CliApp.LoadSettings(p).DataDir, "setup-token"));
            Console.WriteLine($"added {e} ({(p.GetValue(admin) ? Roles.Admin : Roles.Member)})");
            return 0;
        });
        return cmd;
    }

    static Command List()
    {
        var cmd = new Command("list", "List users");
        cmd.SetAction(p =>
        {
            // Only reads: a read-only connection, which SQLite never lets checkpoint or remove -wal/-shm.
            using var c = CliApp.OpenDb(p).OpenReadOnly();
            foreach (var u in UserStore.ListUsersByEmail(c))
                Console.WriteLine($"{u.Id}\t{u.Email}\t{u.Role}\t{(u.Disabled ? "disabled" : "active")}");
            return 0;
        });
        return cmd;
    }

    static Command ResetPassword()
    {
        var email = EmailOption();
        var cmd = new Command("reset-password", "Set a new password (read from stdin) and end the user's sessions") { email };
        cmd.SetAction(p =>
        {
            var password = ReadPassword();
            using var c = CliApp.OpenDb(p).Open();
            var u = UserStore.FindUserByEmail(c, UserStore.NormalizeEmail(p.GetValue(email))) ?? throw new CliException($"no user with the email {p.GetValue(email)}");
            UserStore.UpdatePasswordAndEndSessions(c, u.Id, password);
            Audit.AuditLog.RecordCli(c, "user.password_reset", u.Email);
            Console.WriteLine($"password reset for {u.Email}");
            return 0;
        });
        return cmd;
    }

    static Command ResetTwoFactor()
    {
        var email = EmailOption();
        var cmd = new Command("reset-2fa", "Turn two-factor sign-in off for a user who lost their authenticator and recovery codes; they sign in with the password alone (and set it up again if an admin requires it)") { email };
        cmd.SetAction(p =>
        {
            using var c = CliApp.OpenDb(p).Open();
            var u = UserStore.FindUserByEmail(c, UserStore.NormalizeEmail(p.GetValue(email))) ?? throw new CliException($"no user with the email {p.GetValue(email)}");
            var had = Auth.TwoFactor.IsEnabled(c, u.Id);
            Auth.TwoFactor.RemoveTwoFactor(c, u.Id);
            Console.WriteLine(had ? $"two-factor sign-in reset for {u.Email}" : $"{u.Email} had no two-factor sign-in; nothing to reset");
            return 0;
        });
        return cmd;
    }

    static Command Disable()
    {
        var email = EmailOption();
        var enable = new Option<bool>("--enable") { Description = "Enable the user again instead" };
        var cmd = new Command("disable", "Disable a user (they are signed out and cannot sign in)") { email, enable };
        cmd.SetAction(p =>
        {
            using var c = CliApp.OpenDb(p).Open();
            using var tx = c.BeginTransaction();
            var u = UserStore.FindUserByEmail(c, UserStore.NormalizeEmail(p.GetValue(email))) ?? throw new CliException($"no user with the email {p.GetValue(email)}");
            var disable = !p.GetValue(enable);
            if (disable && u.IsAdmin && !u.Disabled && UserStore.CountEnabledAdmins(c) <= 1)
                throw new CliException($"{u.Email} is the last enabled admin; make another user admin first");
            UserStore.UpdateRoleAndDisabled(c, u.Id, u.Role, disable);
            tx.Commit();
            if (disable != u.Disabled) Audit.AuditLog.RecordCli(c, disable ? "user.disable" : "user.enable", u.Email);
            Console.WriteLine($"{u.Email} {(disable ? "disabled" : "enabled")}");
            return 0;
        });
        return cmd;
    }
}
