"""A tqdm bar fed by the backup services' progress callback (done, total)."""

from tqdm import tqdm


class BackupProgressBar:
    def __init__(self, *, description: str, stream, unit: str, disable: bool = False):
        self.bar = tqdm(desc=description, unit=unit, file=stream, disable=disable, dynamic_ncols=True)

    def __call__(self, done: int, total: int) -> None:
        if self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()
