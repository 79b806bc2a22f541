from imgconf.cli import entry

entry()
