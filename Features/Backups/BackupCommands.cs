using System.CommandLine;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Backups;

/// <summary>`vpspanel backup [PATH]` and `vpspanel restore FILE [--force]`, on the data dir the panel's settings name.</summary>
public static class BackupCommands
{
    public static Command Backup()
    {
        var path = new Argument<string?>("PATH")
        {
            Description = "A directory to write the archive into, or a new file name (default: <DataDir>/backups, which keeps the newest Backup:Keep)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var cmd = new Command("backup", "Back up the database, the key ring and the settings into one archive; safe while the panel runs") { path };
        cmd.SetAction(async (p, ct) =>
        {
            var settings = CliApp.LoadSettings(p);
            try
            {
                var file = await MakeBackup.CreateAsync(settings, p.GetValue(path), ct);
                if (MakeBackup.IsInBackupsDir(settings, file)) MakeBackup.PruneOldBackups(settings);
                Audit.AuditLog.RecordBackup(settings, "backup.create", file, "cli");
                Console.WriteLine(file);
                return 0;
            }
            catch (BackupException e) { throw new CliException(e.Message, e.ExitCode); }
        });
        return cmd;
    }

    public static Command Restore()
    {
        var file = new Argument<string>("FILE") { Description = "An archive made by `vpspanel backup` or the scheduled backup" };
        var force = new Option<bool>("--force") { Description = "Restore even though a panel is running on the data dir (stop it instead if you can)" };
        var cmd = new Command("restore", "Replace the data dir's database and key ring with a backup's, after checking the backup is whole") { file, force };
        cmd.SetAction(async (p, ct) =>
        {
            var settings = CliApp.LoadSettings(p);
            RestoreBackup.Result r;
            try { r = await RestoreBackup.RunAsync(settings, p.GetValue(file)!, p.GetValue(force), ct); }
            catch (BackupException e) { throw new CliException(e.Message, e.ExitCode); }
            var m = r.Manifest;
            Audit.AuditLog.RecordBackup(settings, "backup.restore", Path.GetFullPath(p.GetValue(file)!), "cli", $"made by vpspanel {m.PanelVersion} at {m.CreatedAt}");
            Console.WriteLine($"restored {Path.GetFullPath(p.GetValue(file)!)} (made by vpspanel {m.PanelVersion} at {m.CreatedAt}, schema version {m.SchemaVersion}) into {settings.DataDir}");
            if (r.SetAside is not null)
                Console.WriteLine($"the data it replaced was moved to {r.SetAside}; delete it once the panel works");
            if (r.ArchivedSettings is not null)
                Console.WriteLine($"the backed-up settings were NOT applied; they are in {r.ArchivedSettings} to compare with {Settings.PanelSettings.EtcSettingsFile}");
            Console.WriteLine("start the panel now (systemctl start vpspanel); it migrates an older schema on start");
            return 0;
        });
        return cmd;
    }
}
