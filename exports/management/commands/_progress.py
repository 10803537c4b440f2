"""A tqdm bar fed by the export services' progress callback."""

from tqdm import tqdm


class ExportProgressBar:
    def __init__(self, *, description: str, stream, disable: bool = False):
        self.bar = tqdm(desc=description, unit="rec", file=stream, disable=disable, dynamic_ncols=True)

    def __call__(self, processed: int, total: int) -> None:
        if self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(processed - self.bar.n)

    def close(self) -> None:
        self.bar.close()
