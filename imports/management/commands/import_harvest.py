from ._pull_command import PullCommand


class Command(PullCommand):
    help = "Pull time entries from a Harvest account."
    source = "harvest"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--account-id", dest="account_id", required=True, help="Harvest account id")
        parser.add_argument("--timezone", help="the Harvest account's timezone (default: the user's)")
