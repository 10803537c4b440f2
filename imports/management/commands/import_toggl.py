from ._pull_command import PullCommand


class Command(PullCommand):
    help = "Pull time entries (and clients, projects, tasks, tags) from a Toggl Track workspace."
    source = "toggl"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--workspace", dest="workspace_id", required=True, help="Toggl workspace id")
