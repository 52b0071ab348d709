using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Git;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Projects;

/// <summary>
/// A project's SSH deploy key. The pair is made by ssh-keygen in a private temporary directory; the public half is
/// shown to paste into the Git host, the private half is stored encrypted (Data Protection, like Git tokens and
/// variables) in the projects row. A fetch gets the key as a 0600 file that lives only while git runs.
/// </summary>
public static class DeployKey
{
    public const string Purpose = "VpsPanel.Projects.DeployKey.v1";
    const UnixFileMode OwnerOnlyDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Makes a new pair for the project, replacing any earlier one; returns the public key line.</summary>
    public static async Task<string> GenerateAsync(SqliteConnection c, IDataProtectionProvider protection, GitCli git,
        long projectId, string slug, CancellationToken ct)
    {
        var dir = PrivateTempDir(git);
        try
        {
            var file = Path.Combine(dir, "key");
            var r = await Proc.RunAsync("ssh-keygen", ["-t", "ed25519", "-N", "", "-q", "-C", $"vpspanel-{slug}", "-f", file], TimeSpan.FromSeconds(30), ct);
            if (!r.Ok) throw new GitException($"ssh-keygen failed: {GitCli.Describe(r)}");
            var publicKey = (await File.ReadAllTextAsync(file + ".pub", ct)).Trim();
            var privateKey = await File.ReadAllTextAsync(file, ct);
            SaveKeyPair(c, projectId, publicKey, protection.CreateProtector(Purpose).Protect(privateKey));
            return publicKey;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    static void SaveKeyPair(SqliteConnection c, long id, string publicKey, string privateKeyProtected) =>
        c.Execute("UPDATE projects SET ssh_public_key = @publicKey, ssh_private_key_protected = @privateKeyProtected, updated_at = @now WHERE id = @id",
            new { id, publicKey, privateKeyProtected, now = Clock.Now() });

    static string? FindPrivateKeyProtected(SqliteConnection c, long id) =>
        c.ExecuteScalar<string?>("SELECT ssh_private_key_protected FROM projects WHERE id = @id", new { id });

    /// <summary>
    /// The project's private key as a file for one git fetch: 0600 from its creation, in a 0700 directory, deleted when
    /// disposed. Null when the project has no key yet.
    /// </summary>
    public static KeyFile? WriteForFetch(SqliteConnection c, IDataProtectionProvider protection, GitCli git, long projectId)
    {
        if (FindPrivateKeyProtected(c, projectId) is not { } stored) return null;
        string privateKey;
        try { privateKey = protection.CreateProtector(Purpose).Unprotect(stored); }
        catch (System.Security.Cryptography.CryptographicException)
        {
            throw new GitException("the project's deploy key cannot be decrypted with this panel's key ring (restored without its keys?); " +
                                   "generate a new deploy key on the project page and add it to the Git host");
        }
        var dir = PrivateTempDir(git);
        var path = Path.Combine(dir, "key");
        using (var f = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnlyFile }))
        using (var w = new StreamWriter(f))
            w.Write(privateKey);
        return new KeyFile(dir, path);
    }

    public sealed class KeyFile(string dir, string path) : IDisposable
    {
        public string Path { get; } = path;
        public void Dispose() { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } }
    }

    static string TempRoot(GitCli git) => Path.Combine(git.SshDir, "tmp");

    static string PrivateTempDir(GitCli git)
    {
        Directory.CreateDirectory(git.SshDir);
        File.SetUnixFileMode(git.SshDir, OwnerOnlyDir);
        Directory.CreateDirectory(TempRoot(git), OwnerOnlyDir);
        return Directory.CreateDirectory(Path.Combine(TempRoot(git), Guid.NewGuid().ToString("n")), OwnerOnlyDir).FullName;
    }

    /// <summary>
    /// At startup: key files left by a crash mid-fetch are removed, and panels from before keys were encrypted have
    /// their plain key files (&lt;DataDir&gt;/ssh/project-N_ed25519) moved into the database and deleted.
    /// </summary>
    public static void MoveKeyFilesIntoDatabase(Db db, IDataProtectionProvider protection, GitCli git, ILogger logger)
    {
        if (!Directory.Exists(git.SshDir)) return;
        if (Directory.Exists(TempRoot(git))) Directory.Delete(TempRoot(git), recursive: true);
        using var c = db.Open();
        foreach (var (id, publicKey) in c.Query<(long Id, string PublicKey)>(
                     "SELECT id, ssh_public_key FROM projects WHERE ssh_public_key IS NOT NULL AND ssh_private_key_protected IS NULL"))
        {
            var file = Path.Combine(git.SshDir, $"project-{id}_ed25519");
            if (!File.Exists(file)) continue;
            SaveKeyPair(c, id, publicKey, protection.CreateProtector(Purpose).Protect(File.ReadAllText(file)));
            File.Delete(file);
            File.Delete(file + ".pub");
            logger.LogInformation("moved the deploy key of project {Id} into the database (encrypted)", id);
        }
    }
}
