using System.Net;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.Identity;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Auth;

/// <summary>Issue 13, part 2: bcrypt (BCrypt.Net-Next) for passwords; hashes from the old hasher still sign in and are replaced.</summary>
public sealed class PasswordHashTests
{
    const string Admin = PanelSetup.AdminEmail;
    const string Password = PanelSetup.AdminPassword;

    /// <summary>25 four-byte characters: 100 bytes of UTF-8, past bcrypt's 72.</summary>
    static readonly string LongPassword = string.Concat(Enumerable.Repeat("😀", 25));

    static string StoredHash(PanelProcess panel, string email)
    {
        using var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db"), neverCheckpointOnClose: true);
        return c.ExecuteScalar<string>("SELECT password_hash FROM users WHERE email = @email", new { email })!;
    }

    static async Task<Page> PostLoginAsync(PanelClient client, string email, string password) =>
        await client.SubmitAsync("/login", new Dictionary<string, string> { ["email"] = email, ["password"] = password });

    [Fact]
    public async Task A_user_with_an_old_hasher_hash_signs_in_and_then_has_a_bcrypt_hash_while_wrong_passwords_fail_and_are_counted()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        Assert.StartsWith("$2", StoredHash(panel, Admin)); // new accounts are bcrypt already

        // The old code path: ASP.NET Core Identity's PasswordHasher, as UserStore used it before this change.
        var oldHash = new PasswordHasher<object>().HashPassword(null!, Password);
        Assert.StartsWith("AQAAAA", oldHash);
        using (var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db"), neverCheckpointOnClose: true))
            Assert.Equal(1, c.Execute("UPDATE users SET password_hash = @oldHash WHERE email = @Admin", new { oldHash, Admin }));

        using var client = new PanelClient(panel);
        var wrong = await PostLoginAsync(client, Admin, "not the password at all");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.Status);
        Assert.Equal(oldHash, StoredHash(panel, Admin)); // a wrong password changes nothing

        var ok = await PostLoginAsync(client, Admin, Password);
        Assert.True(ok.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"sign-in answered {ok.Status}");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/account")).Status);
        var newHash = StoredHash(panel, Admin);
        Assert.Matches(@"^\$2[abxy]\$12\$", newHash);
        Assert.True(UserStore.VerifyPassword(new UserRow { PasswordHash = newHash }, Password));
        Assert.False(UserStore.NeedsRehash(newHash));

        // With the bcrypt hash: a wrong password still fails, and the throttle still counts (5 per account and address).
        using var other = new PanelClient(panel);
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await PostLoginAsync(other, Admin, $"wrong password {i}")).Status);
        var throttled = await PostLoginAsync(other, Admin, Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        Assert.Equal(newHash, StoredHash(panel, Admin));
    }

    [Fact]
    public void A_password_of_100_bytes_of_multibyte_UTF8_counts_in_every_byte()
    {
        Assert.Equal(100, Encoding.UTF8.GetByteCount(LongPassword));
        Assert.Null(UserStore.PasswordProblem(LongPassword)); // accepted, not refused
        var hash = UserStore.HashPassword(LongPassword);
        var user = new UserRow { PasswordHash = hash };
        Assert.True(UserStore.VerifyPassword(user, LongPassword));
        // Same first 72 bytes (18 emoji), different after: plain bcrypt would accept it; the SHA-384 pre-hash does not.
        var sameStart = string.Concat(Enumerable.Repeat("😀", 24)) + "😁";
        Assert.Equal(Encoding.UTF8.GetBytes(LongPassword)[..72], Encoding.UTF8.GetBytes(sameStart)[..72]);
        Assert.False(UserStore.VerifyPassword(user, sameStart));
        Assert.False(UserStore.VerifyPassword(user, LongPassword[..36]));
        // A damaged hash in the row is a failed sign-in, not an exception.
        Assert.False(UserStore.VerifyPassword(new UserRow { PasswordHash = "$2b$12$not-a-hash" }, LongPassword));
    }

    [Fact]
    public async Task The_CLI_adds_and_resets_with_the_same_bcrypt_code_and_a_100_byte_password_signs_in()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        const string email = "long@example.com";
        var added = await PanelCli.RunAsync(["user", "add", "--email", email, "--data-dir", panel.DataDir], stdin: LongPassword + "\n");
        Assert.True(added.ExitCode == 0, added.Stderr);
        Assert.Matches(@"^\$2[abxy]\$12\$", StoredHash(panel, email));

        using var client = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await PostLoginAsync(client, email, string.Concat(Enumerable.Repeat("😀", 24)) + "😁")).Status);
        var ok = await PostLoginAsync(client, email, LongPassword);
        Assert.True(ok.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"sign-in answered {ok.Status}");

        const string next = "another long enough password";
        var reset = await PanelCli.RunAsync(["user", "reset-password", "--email", email, "--data-dir", panel.DataDir], stdin: next + "\n");
        Assert.True(reset.ExitCode == 0, reset.Stderr);
        var hash = StoredHash(panel, email);
        Assert.Matches(@"^\$2[abxy]\$12\$", hash);
        Assert.True(UserStore.VerifyPassword(new UserRow { PasswordHash = hash }, next));
        Assert.False(UserStore.VerifyPassword(new UserRow { PasswordHash = hash }, LongPassword));
    }
}
