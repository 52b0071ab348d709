using System.CommandLine;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Projects;

/// <summary>`vpspanel projects list`: every project, read from the data dir (works with the panel stopped); `projects scale` (ProjectScaleCommand), `projects place` (Cluster/ProjectPlaceCommand).</summary>
public static class ProjectCommands
{
    public static Command Build()
    {
        var projects = new Command("projects", "Projects on this panel");
        var list = new Command("list", "List all projects: short name, name, owner, status, first domain (tab-separated)");
        list.SetAction(p =>
        {
            using var c = CliApp.OpenDb(p).Open();
            var all = ProjectStore.ListProjectsVisibleTo(c, 0, isAdmin: true);
            if (all.Count == 0) Console.Error.WriteLine("no projects yet");
            foreach (var x in all)
                Console.WriteLine($"{x.Slug}\t{x.Name}\t{x.OwnerEmail}\t{x.LiveStatus ?? (x.LastStatus is { } s ? "not live (last: " + s + ")" : "never deployed")}\t{x.Domain}");
            return 0;
        });
        projects.Subcommands.Add(list);
        projects.Subcommands.Add(ProjectScaleCommand.Build());
        projects.Subcommands.Add(Cluster.ProjectPlaceCommand.Build());
        foreach (var cmd in Running.RunningCommands.Build()) projects.Subcommands.Add(cmd);
        foreach (var cmd in EnvironmentCommands.Build()) projects.Subcommands.Add(cmd);
        return projects;
    }
}
