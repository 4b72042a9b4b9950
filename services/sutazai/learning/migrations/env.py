from sutazai.lib.migration_env import run

run()
