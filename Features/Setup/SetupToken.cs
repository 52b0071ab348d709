using System.Security.Cryptography;
using System.Text;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Setup;

/// <summary>
/// While no user exists, whoever reaches the panel first could make themselves admin. The one-time token,
/// printed in the panel's log and written to &lt;DataDir&gt;/setup-token (0600), proves they are the operator.
/// </summary>
public sealed class SetupToken(PanelSettings settings, Db db, ILogger<SetupToken> log)
{
    string? _token;

    public string FilePath => Path.Combine(settings.DataDir, "setup-token");

    public void CreateIfNoUser()
    {
        using var c = db.Open();
        if (UserStore.AnyUserExists(c)) { File.Delete(FilePath); return; }
        _token = settings.FixedSetupToken != "" ? settings.FixedSetupToken : Convert.ToHexString(RandomNumberGenerator.GetBytes(20)).ToLowerInvariant();
        // Created with 0600 from the start so the token is never readable by others, even briefly.
        File.Delete(FilePath);
        using (var f = new FileStream(FilePath, new FileStreamOptions
               { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            f.Write(Encoding.UTF8.GetBytes(_token + "\n"));
        log.LogWarning("No user exists yet. Open /setup and enter this setup token: {Token} (also in {Path})", _token, FilePath);
    }

    public bool Matches(string? candidate) =>
        _token is not null && candidate is not null &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate.Trim()), Encoding.UTF8.GetBytes(_token));

    public void Consume()
    {
        _token = null;
        File.Delete(FilePath);
    }
}
